#!/usr/bin/env bash
# Prepares .device/ (ignored by git) for a run on a GPU machine that has a CUDA PyTorch but no .NET: the .NET runtime,
# one folder holding the CLI and the benchmarks (framework-dependent build, without the bundled CPU libtorch: the
# machine's own libtorch is used), and the CIFAR-10 JPEG tarball. About 50 MB. Then benchmarks/gpu/run-on-device.sh
# runs there (see benchmarks/README.md, "On the GPU machine").
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release src/Robustness.Cli -v q
dotnet build -c Release benchmarks/Robustness.Benchmarks -v q
rm -rf .device && mkdir -p .device/app
runtime_version=$(ls /usr/share/dotnet/shared/Microsoft.NETCore.App | sort -V | tail -1)
tar cJf .device/dotnet-rt.tar.xz -C /usr/share/dotnet dotnet host "shared/Microsoft.NETCore.App/$runtime_version"
for out in src/Robustness.Cli/bin/Release/net10.0/linux-x64 benchmarks/Robustness.Benchmarks/bin/Release/net10.0/linux-x64; do
  # Keep the Debian-compatible TorchSharp glue (libLibTorchSharp.so, added below); drop libtorch and its test libraries,
  # and SkiaSharp's natives (charts only; the transfer to the device is limited to 64 MiB).
  (cd "$out" && find . -type f ! -path './publish/*' ! -name '*.pdb' ! -name 'lib*Sharp.so' ! -name 'libHarfBuzz*' ! -name 'Robustness.xml' ! -name 'libtorch*' ! -name 'libc10*' ! -name 'libgomp*' \
    ! -name 'libshm*' ! -name 'libjitbackend*' ! -name 'libbackend*' ! -name 'libaoti*' ! -name 'libnnapi*' ! -name 'libtorchbind*' \
    -print0 | tar cf - --null -T -) | tar xf - -C .device/app
done
cp src/Robustness.Cli/bin/Release/net10.0/linux-x64/libLibTorchSharp.so .device/app/
# CIFAR-10: the first ${PER_CLASS:-1000} training images of each class by file name (as the benchmarks take them) and the
# whole test set, repacked with the same layout (train/<class>/*.jpg, test/<class>/*.jpg).
tmp=$(mktemp -d)
tarball=../shared/datasets/cifar10/cifar10-jpeg.tar.gz
tar tzf "$tarball" | grep -E '^(train|test)/[^/]+/[^/]+$' | LC_ALL=C sort > "$tmp/all"
awk -F/ -v n="${PER_CLASS:-1000}" '$1 == "test" || ($1 == "train" && ++seen[$2] <= n)' "$tmp/all" > "$tmp/keep"
mkdir "$tmp/x" && tar xzf "$tarball" -C "$tmp/x" -T "$tmp/keep"
tar czf .device/cifar10-jpeg.tar.gz -C "$tmp/x" train test
rm -rf "$tmp"
du -sh .device .device/*
