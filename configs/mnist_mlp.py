# An MLP on the MNIST digits, trained with AdamW for 3000 iterations (about 15 s on 2 cores).
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

train_cfg = dict(type='IterBasedTrainLoop', max_iters=3000, val_interval=1000)
val_cfg = dict(type='ValLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.001, betas=(0.9, 0.999), weight_decay=0.0001))

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=200))

randomness = dict(seed=0)
