# Source me (bash): venv + vision_msgs underlay (if built) + workspace overlay.
_argos_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_argos_venv=${ARGOS_VENV:-$_argos_root/.venv}
if [ -x "$_argos_venv/bin/python" ]; then
  # shellcheck disable=SC1091
  source "$_argos_venv/bin/activate"
  export AMENT_PREFIX_PATH=$_argos_venv${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}
  export CMAKE_PREFIX_PATH=$_argos_venv${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
fi
_argos_had_u=$-; set +u
[ -f "$_argos_root/underlay/install/local_setup.bash" ] && source "$_argos_root/underlay/install/local_setup.bash"
[ -f "$_argos_root/install/local_setup.bash" ] && source "$_argos_root/install/local_setup.bash"
case $_argos_had_u in *u*) set -u;; esac
unset _argos_root _argos_venv _argos_had_u
