# Sourced by .ci/run (and usable by hand): a venv with TensorBoard, whose own event-file reader
# test/tensorboard.test.ts uses (through scripts/read-tb-events.py) to check the files Anvil
# writes. Made once per machine, outside the repo; under CI a missing reader fails that test.
anvil_tb_venv="${ANVIL_TB_VENV:-$HOME/.cache/anvil/tb-venv}"
if ! "$anvil_tb_venv/bin/python" -c 'import tensorboard' >/dev/null 2>&1; then
  { python3 -m venv "$anvil_tb_venv" &&
    "$anvil_tb_venv/bin/pip" install --quiet --disable-pip-version-check "tensorboard==2.21.0"; } ||
    echo "ensure-tb-reader: could not install TensorBoard (the TensorBoard reader test will say so)" >&2
fi
export ANVIL_TB_PYTHON="${ANVIL_TB_PYTHON:-$anvil_tb_venv/bin/python}"
