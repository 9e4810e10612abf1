#!/usr/bin/env bash
# Installs the system packages that the named tools need, when missing (Debian/Ubuntu, apt-get).
# Tools, as test files declare them (`// needs: ffmpeg, gstreamer`, read by scripts/test-needs.mjs):
#   ffmpeg      ffmpeg and ffprobe make and probe real MKV
#   gstreamer   gst-launch-1.0 with matroskamux and x264enc, a second real producer
#   mkvtoolnix  mkvinfo / mkvmerge check MKV as a third party reads it
#   aws         /usr/bin/aws (AWS CLI v2 as Debian packages it)
#   boto3       /usr/bin/python3 with boto3
#   curl        curl, the plain-HTTP producer
#   chromium    Debian's Chromium, the browser the playback tests play in (headless, via playwright-core)
# With no argument, installs for every tool above.
set -euo pipefail
[ $# -gt 0 ] || set -- ffmpeg gstreamer mkvtoolnix aws boto3 curl chromium
need=()
for tool in "$@"; do
  case "$tool" in
    ffmpeg) [ -x /usr/bin/ffmpeg ] && [ -x /usr/bin/ffprobe ] || need+=(ffmpeg) ;;
    gstreamer)
      [ -x /usr/bin/gst-launch-1.0 ] || need+=(gstreamer1.0-tools)
      gst-inspect-1.0 matroskamux >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-good)
      gst-inspect-1.0 x264enc >/dev/null 2>&1 || need+=(gstreamer1.0-plugins-ugly gstreamer1.0-plugins-base) ;;
    mkvtoolnix) [ -x /usr/bin/mkvinfo ] || need+=(mkvtoolnix) ;;
    aws) [ -x /usr/bin/aws ] || need+=(awscli) ;;
    boto3) /usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || need+=(python3-boto3) ;;
    curl) command -v curl >/dev/null || need+=(curl) ;;
    chromium) [ -x /usr/bin/chromium ] || need+=(chromium) ;;
    *) echo "install-test-prereqs: unknown tool '$tool'" >&2; exit 2 ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test prerequisites: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
