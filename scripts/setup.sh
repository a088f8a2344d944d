#!/usr/bin/env bash
# One-command, idempotent setup of an ARGOS edge workspace on a machine without apt ROS:
#   Python 3.11 venv with pinned ROS 2 Kilted wheels -> vision_msgs and foxglove_msgs underlay (each only when no real
#   one is found) -> colcon build of src/ -> redis-server and mosquitto from apt if missing.
# On a Jetson with apt ROS 2 use the README's "Jetson" path instead (rosdep + colcon, no venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${ARGOS_VENV:-$ROOT/.venv}
PY=${PYTHON:-python3.11}
log() { printf '[setup] %s\n' "$*"; }

# --- 1. system services used by `make run` and the integration tests -------------------------
need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto mosquitto-clients)
command -v influxd >/dev/null || [ -x /usr/bin/influxd ] || need_apt+=(influxdb)   # collector tests (v1 API)
command -v faketime >/dev/null || need_apt+=(faketime)   # `argos bench faults`: the clock-step scenario
# GStreamer capture (camera) and the PyGObject build; RTSP server for the camera tests.
GST_APT=(libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
         gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
         gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp gstreamer1.0-tools ffmpeg)
# A real headless browser for the `argos lines` page test (driven by selenium from requirements.txt).
BROWSER_APT=(chromium chromium-driver)
for pkg in "${GST_APT[@]}" "${BROWSER_APT[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${need_apt[*]} from apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    log "WARNING: ${need_apt[*]} missing and apt not usable as this user; install them yourself"
  fi
fi

# --- 2. venv with pinned wheels ----------------------------------------------------------------
stamp=$VENV/.argos-requirements.sha256
want=$(cat requirements.txt requirements-nodeps.txt | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
  command -v "$PY" >/dev/null || { echo "setup: $PY not found (ROS 2 Kilted wheels are cp311 only)" >&2; exit 1; }
  log "creating venv $VENV"
  "$PY" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing pinned requirements"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements.txt
  "$VENV/bin/python" -m pip install -q --no-deps -r requirements-nodeps.txt
  # The ROS wheels' CMake configs name the wheel build host's Python paths; point them at ours.
  pyinc=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
  npinc=$("$VENV/bin/python" -c 'import numpy; print(numpy.get_include())')
  # (nothing to rewrite when an existing venv was patched before: grep's "no match" is fine)
  { grep -rlE '/opt/python/cp311-cp311' "$VENV/share" --include='*.cmake' 2>/dev/null || true; } | while read -r f; do
    sed -i -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$npinc#g" \
           -e "s#/opt/python/cp311-cp311/include/python3.11#$pyinc#g" "$f"
  done
  echo "$want" > "$stamp"
fi

# --- 3. colcon builds --------------------------------------------------------------------------
# The wheels' bootstrapper re-executes Python with LD_LIBRARY_PATH; colcon, cmake and the
# generated code all run inside this environment.
export AMENT_PREFIX_PATH=$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}
export CMAKE_PREFIX_PATH=$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
export PATH=$VENV/bin:$PATH
COLCON=(colcon --log-base "$ROOT/log")
# per-package settings live in colcon.meta; only this machine's Python is passed here
CMAKE_ARGS=(--metas "$ROOT/colcon.meta" --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python")

has_real() {  # $1: an interface package found on AMENT_PREFIX_PATH outside our underlay
  local p
  IFS=: read -ra prefixes <<< "$AMENT_PREFIX_PATH"
  for p in "${prefixes[@]}"; do
    [ "$p" = "$ROOT/underlay/install" ] && continue
    [ -f "$p/share/$1/package.xml" ] && return 0
  done
  return 1
}
UNDERLAY=()
for pkg in vision_msgs foxglove_msgs; do
  if has_real "$pkg"; then
    log "real $pkg found on AMENT_PREFIX_PATH; not building the in-repo copy"
  else
    UNDERLAY+=("$pkg")
  fi
done
if [ ${#UNDERLAY[@]} -gt 0 ]; then
  log "building ${UNDERLAY[*]} (in-repo definitions) into underlay/install"
  (cd underlay && "${COLCON[@]}" build --base-paths "${UNDERLAY[@]}" --build-base build --install-base install \
      "${CMAKE_ARGS[@]}" --event-handlers console_cohesion- summary- status- >/dev/null) \
      || { echo "setup: underlay build (${UNDERLAY[*]}) failed; see log/latest_build" >&2; exit 1; }
  # shellcheck disable=SC1091
  set +u; source underlay/install/local_setup.bash; set -u
fi

log "colcon build of src/"
"${COLCON[@]}" build --base-paths src --symlink-install "${CMAKE_ARGS[@]}" --event-handlers console_cohesion- summary- status- >/dev/null \
  || { echo "setup: colcon build failed; re-run with: source scripts/env.sh && colcon build --base-paths src" >&2; exit 1; }
log "done: source scripts/env.sh to use the workspace"
