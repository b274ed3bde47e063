#!/usr/bin/env python3
"""Reads TensorBoard event files with TensorBoard's own reader and prints what they hold as JSON.

Used by test/tensorboard.test.ts to check Anvil's TensorboardVisBackend against the real
reader (records are CRC-checked by it). Needs the `tensorboard` package (`.ci/run` installs it
into a venv).

    python scripts/read-tb-events.py <logdir>

Prints {"files": [...], "file_versions": [...], "scalars": {tag: [[step, value], ...]},
"images": {tag: [{"step", "width", "height", "png_base64"}]}, "texts": {tag: [{"step", "text",
"plugin"}]}}: `file_versions` is each file's first event's file_version, read record by record
with event_file_loader; the rest comes from EventAccumulator, as TensorBoard's UI loads it.
"""

import base64
import json
import os
import sys

from tensorboard.backend.event_processing import event_accumulator, event_file_loader


def main(logdir):
    files = sorted(f for f in os.listdir(logdir) if 'tfevents' in f)
    file_versions = []
    for name in files:
        first = next(iter(event_file_loader.EventFileLoader(os.path.join(logdir, name)).Load()), None)
        file_versions.append(first.file_version if first is not None else None)

    # size_guidance 0 keeps every event; no purging, so exactly what the files hold comes back.
    acc = event_accumulator.EventAccumulator(
        logdir,
        size_guidance={event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0, event_accumulator.TENSORS: 0},
        purge_orphaned_data=False,
    )
    acc.Reload()
    tags = acc.Tags()
    scalars = {tag: [[e.step, e.value] for e in acc.Scalars(tag)] for tag in tags['scalars']}
    images = {
        tag: [
            {'step': e.step, 'width': e.width, 'height': e.height,
             'png_base64': base64.b64encode(e.encoded_image_string).decode('ascii')}
            for e in acc.Images(tag)
        ]
        for tag in tags['images']
    }
    texts = {}
    for tag in tags['tensors']:
        plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
        texts[tag] = [
            {'step': e.step, 'plugin': plugin, 'text': b''.join(e.tensor_proto.string_val).decode('utf-8')}
            for e in acc.Tensors(tag)
        ]
    json.dump({'files': files, 'file_versions': file_versions, 'scalars': scalars, 'images': images, 'texts': texts}, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: read-tb-events.py <logdir>')
    main(sys.argv[1])
