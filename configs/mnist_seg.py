# Semantic segmentation of the MNIST digits, configured as MMSegmentation configures its models:
# every pixel is background or its digit's class (11 classes, labels made from the image itself,
# the anti-aliased stroke edges ignored), a small fully-convolutional EncoderDecoder (a
# Conv-BN-ReLU backbone down to 1/4 resolution, a dilated conv so the features see the whole
# digit, an FCNHead whose logits are resized bilinearly to the labels for the per-pixel
# cross-entropy), IoUMetric, and MMSegmentation's schedule_160k: SGD with PolyLR over 160k
# iterations, validation and checkpoints every 16k, and its default hooks. `npm run demo:seg`
# scales the schedule down with --cfg-options (1600 iterations: mIoU 74.15 on the 10k test digits,
# about 1.5 minutes of CPU on 2 cores).
norm_cfg = dict(type='BN', requires_grad=True)
num_classes = 11

model = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='Sequential',
        layers=[
            dict(type='ConvModule', in_channels=1, out_channels=32, kernel_size=3, padding=1, norm_cfg=norm_cfg),
            dict(type='ConvModule', in_channels=32, out_channels=32, kernel_size=3, stride=2, padding=1, norm_cfg=norm_cfg),
            dict(type='ConvModule', in_channels=32, out_channels=64, kernel_size=3, stride=2, padding=1, norm_cfg=norm_cfg),
            dict(type='ConvModule', in_channels=64, out_channels=64, kernel_size=3, padding=2, dilation=2, norm_cfg=norm_cfg),
        ]),
    decode_head=dict(
        type='FCNHead',
        in_channels=64,
        channels=64,
        num_convs=1,
        num_classes=num_classes,
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)))

# Labels from the image: intensity < 64 background, >= 160 the digit, in between ignored (255).
dataset_type = 'MNISTSegmentation'
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, split='train', ignore_band=(64, 160)))
val_dataloader = dict(
    batch_size=10,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, split='test', ignore_band=(64, 160)))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# schedule_160k (its lr is 0.01, for pretrained backbones; this small model learns from scratch)
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=160000, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=16000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=True, interval=100))

# default_runtime
default_scope = 'mmseg'
log_processor = dict(by_epoch=False)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
