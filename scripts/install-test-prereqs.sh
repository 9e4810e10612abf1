#!/usr/bin/env bash
# System packages the integration tests drive: ffmpeg and GStreamer make real MKV, mkvinfo checks it,
# /usr/bin/aws (CLI v2) and /usr/bin/python3 with boto3 are the Python clients. Installed only when missing.
set -euo pipefail
need=()
[ -x /usr/bin/ffmpeg ] && [ -x /usr/bin/ffprobe ] || need+=(ffmpeg)
[ -x /usr/bin/mkvinfo ] || need+=(mkvtoolnix)
[ -x /usr/bin/gst-launch-1.0 ] || need+=(gstreamer1.0-tools)
gst-inspect-1.0 matroskamux >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-good)
gst-inspect-1.0 x264enc >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-ugly gstreamer1.0-plugins-base)
[ -x /usr/bin/aws ] || need+=(awscli)
/usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || need+=(python3-boto3)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test prerequisites: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
