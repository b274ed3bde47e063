"""Regenerates the config-system fixtures from MMEngine itself (never edit them by hand).

Run with a Python that has mmengine==0.10.7 installed (outside the repo, e.g. a venv):

    /tmp/mmenv/bin/python scripts/gen-config-fixtures.py [--wheel mmsegmentation-1.2.2-py3-none-any.whl]

1. With --wheel (from `pip download mmsegmentation==1.2.2 --no-deps`): copies the MMSegmentation
   configs listed in MMSEG_FILES from the wheel's mmseg/.mim/configs into
   test/fixtures/config/mmseg/configs.
2. Writes test/fixtures/config/mmseg/expected.json: Config.fromfile(f).to_dict() of every vendored
   config (custom_imports are data, so they are not imported).
3. Writes test/fixtures/config/mmengine-data/expected.json: for each config file of
   ../shared/mmengine-config-data, its to_dict() or the error MMEngine raised. The data folder's
   path and the home directory are written as <ROOT> and <HOME>.
4. Writes test/fixtures/config/snippets/expected.json: the same for each one-file config there
   (the Python constructs and error cases the evaluator must treat as MMEngine does).
"""
import argparse
import json
import os
import sys
import zipfile

# Python >= 3.11 freezes os/posixpath: MMEngine's _is_builtin_module then misreads `import os`
# as a third-party import. Real stdlib files restore the behaviour MMEngine's tests expect. A fixed
# hash seed keeps set orders in error messages, and so the fixtures, reproducible.
if sys._xoptions.get('frozen_modules') != 'off' or os.environ.get('PYTHONHASHSEED') != '0':
    os.execve(sys.executable, [sys.executable, '-X', 'frozen_modules=off', *sys.argv], {**os.environ, 'PYTHONHASHSEED': '0'})

import mmengine.config.utils as mmengine_config_utils  # noqa: E402
from mmengine.config import Config  # noqa: E402

# In a venv MMEngine compares stdlib paths with the venv's prefix; the stdlib lives under the base prefix.
mmengine_config_utils.PYTHON_ROOT_DIR = sys.base_prefix

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MMSEG_DIR = os.path.join(REPO, 'test', 'fixtures', 'config', 'mmseg')
DATA_OUT = os.path.join(REPO, 'test', 'fixtures', 'config', 'mmengine-data')
DATA_ROOT = os.path.join(os.path.dirname(REPO), 'shared', 'mmengine-config-data')
SNIPPETS = os.path.join(REPO, 'test', 'fixtures', 'config', 'snippets')

MMSEG_FILES = [
    '_base_/default_runtime.py',
    '_base_/schedules/schedule_160k.py',
    '_base_/datasets/ade20k.py',
    '_base_/models/upernet_vit-b16_ln_mln.py',
    '_base_/models/upernet_convnext.py',
    'vit/vit_vit-b16_mln_upernet_8xb2-160k_ade20k-512x512.py',
    'convnext/convnext-tiny_upernet_8xb2-amp-160k_ade20k-512x512.py',
    'mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py',
    'mask2former/mask2former_swin-t_8xb2-160k_ade20k-512x512.py',
]


def vendor(wheel):
    with zipfile.ZipFile(wheel) as z:
        for rel in MMSEG_FILES:
            dest = os.path.join(MMSEG_DIR, 'configs', rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with open(dest, 'wb') as f:
                f.write(z.read(f'mmseg/.mim/configs/{rel}'))


def load(path):
    try:
        cfg = Config.fromfile(path, import_custom_modules=False).to_dict()
    except Exception as e:  # noqa: BLE001 - the error is the expected result
        return {'error': f'{type(e).__name__}: {e}'[:300]}
    try:
        return {'cfg': json.loads(json.dumps(cfg))}
    except TypeError:
        # MMEngine kept objects (modules, classes) that have no data form
        return {'unjsonable': repr(cfg)[:300]}


def placeholders(v, root, home):
    if isinstance(v, str):
        return v.replace(root, '<ROOT>').replace(home + '/', '<HOME>/')
    if isinstance(v, list):
        return [placeholders(x, root, home) for x in v]
    if isinstance(v, dict):
        return {k: placeholders(x, root, home) for k, x in v.items()}
    return v


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
        f.write('\n')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--wheel', help='mmsegmentation-1.2.2 wheel to copy the configs from')
    args = parser.parse_args()
    if args.wheel:
        vendor(args.wheel)

    configs = os.path.join(MMSEG_DIR, 'configs')
    write(os.path.join(MMSEG_DIR, 'expected.json'), {rel: load(os.path.join(configs, rel)) for rel in MMSEG_FILES})

    cwd = os.getcwd()
    os.chdir(DATA_ROOT)  # test_code_in_config.py opens a path relative to this folder
    try:
        data = {}
        for d, _, files in sorted(os.walk('tests')):
            for name in sorted(files):
                if name.endswith(('.py', '.json', '.yaml', '.yml')):
                    rel = os.path.join(d, name)
                    result = load(rel)
                    if 'cfg' in result:
                        result['cfg'] = placeholders(result['cfg'], os.path.abspath(DATA_ROOT), os.path.expanduser('~'))
                    data[rel] = result
    finally:
        os.chdir(cwd)
    write(os.path.join(DATA_OUT, 'expected.json'), data)

    names = sorted(n for n in os.listdir(SNIPPETS) if n.endswith('.py'))
    write(os.path.join(SNIPPETS, 'expected.json'), {n: load(os.path.join(SNIPPETS, n)) for n in names})


if __name__ == '__main__':
    main()
