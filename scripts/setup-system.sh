#!/usr/bin/env bash
# Installs the Debian packages the interop tests drive: Mosquitto's command-line clients and
# Python's paho-mqtt (for Debian's /usr/bin/python3). Run by `npm test`; does nothing when both
# are present. Without root (or sudo) it only warns: the interop tests then fail and say this.
set -uo pipefail
need=()
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
/usr/bin/python3 -c 'import paho.mqtt.client' >/dev/null 2>&1 || need+=(python3-paho-mqtt)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "setup-system: the interop tests need the Debian packages ${need[*]}; run 'sudo bash scripts/setup-system.sh'" >&2
    exit 0
  fi
fi
echo "setup-system: installing ${need[*]} from Debian" >&2
$sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null ||
  echo "setup-system: apt-get could not install ${need[*]}; the interop tests will fail" >&2
exit 0
