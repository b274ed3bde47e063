# An MLP on the MNIST digits, trained as an MMEngine recipe would train it (about 15 s on 2 cores):
# AdamW for 6 epochs with validation after each, one epoch of linear warmup then a cosine decay
# stepped per iteration, an exponential moving average of the weights (what validation sees and
# the checkpoints hold), and the best checkpoint by validation accuracy kept beside the last two.
model = dict(type='MLPClassifier', in_features=784, hidden_sizes=[256, 128], num_classes=10)

train_dataloader = dict(
    batch_size=128,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='MNIST', split='train'))
val_dataloader = dict(
    batch_size=1000,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='MNIST', split='test'))
val_evaluator = dict(type='Accuracy')

max_epochs = 6
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.003, betas=(0.9, 0.999), weight_decay=0.0001))

# Warmup over the first epoch's 469 iterations (60000 / 128, rounded up), then a cosine from
# epoch 1 to the end, converted to iterations so that the lr falls smoothly within each epoch.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=469),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs, eta_min=1e-5, convert_to_iter_based=True),
]

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, save_best='accuracy', rule='greater', max_keep_ckpts=2))

# MMEngine's EMAHook: validation swaps the averaged weights in (and back out afterwards), and
# every checkpoint's state_dict holds them, the trained weights going to ema_state_dict.
custom_hooks = [dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=0.002)]

randomness = dict(seed=0)
