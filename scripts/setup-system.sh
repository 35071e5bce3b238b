#!/usr/bin/env bash
# Installs the Debian packages the tests need, once: Chromium (the browser suite) and Mesa's lavapipe
# from bookworm-backports (Dawn refuses bookworm's own Mesa 22.3; Mesa 25 gives real shader-f16).
# The backports line reuses the mirror this machine already uses; no host is typed here.
set -euo pipefail
need=()
[[ -x /usr/bin/chromium ]] || need+=(chromium)
lvp_ok() { [[ -f /usr/share/vulkan/icd.d/lvp_icd.json ]] && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]\.'; }
lvp_ok || need+=(mesa-vulkan-drivers)
ldconfig -p | grep -q libvulkan.so.1 || need+=(libvulkan1)
((${#need[@]})) || exit 0
if [[ $(id -u) != 0 ]]; then
  echo "setup-system: missing Debian packages (${need[*]}); run this script as root: sudo $0" >&2; exit 1
fi
echo "setup-system: installing ${need[*]}"
if [[ ! -f /etc/apt/sources.list.d/backports.list ]]; then
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [[ -n $uri ]] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  echo "deb $uri bookworm-backports main" > /etc/apt/sources.list.d/backports.list
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium libvulkan1 >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers >/dev/null
lvp_ok || { echo "setup-system: lavapipe from bookworm-backports did not install" >&2; exit 1; }
