# Sourced by .ci/run (and usable by hand): Open MPI and libclang for the MPI build of the addon
# (rsmpi's bindings are generated with libclang) and the 2-rank tests. Installs them with apt-get
# when missing (CI runs as root; `apt-get update` only if the install fails without it), and lets
# Open MPI run as root, which it refuses unless told.
if ! dpkg -s openmpi-bin libopenmpi-dev libclang-dev >/dev/null 2>&1; then
  anvil_mpi_pkgs="openmpi-bin libopenmpi-dev libclang-dev"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $anvil_mpi_pkgs >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $anvil_mpi_pkgs >/dev/null; } \
    || echo "ensure-mpi: could not install $anvil_mpi_pkgs (the MPI tests will say so)" >&2
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
