#!/usr/bin/env bash
# Checks the tool's per-platform packages in PACKAGES_DIR: each carries its own platform's libtorch and TorchSharp
# glue and no other platform's, the top-level package only points at them, and the tool installs from the folder
# (the top-level package resolving to this machine's) and loads libtorch. Usage: .ci/check-tool-packages.sh PACKAGES_DIR
set -euo pipefail
dir=$1
declare -A payload=(
  [linux-x64]="libtorch_cpu.so libc10.so libLibTorchSharp.so libgomp-98b21ff3.so.1"
  [win-x64]="torch_cpu.dll c10.dll LibTorchSharp.dll libiomp5md.dll"
  [osx-arm64]="libtorch_cpu.dylib libc10.dylib libLibTorchSharp.dylib libomp.dylib"
)
for rid in "${!payload[@]}"; do
  package=$(ls "$dir"/Robustness.Cli."$rid".*.nupkg)
  listing=$(unzip -Z1 "$package")
  for file in ${payload[$rid]}; do
    grep -qx "tools/net10.0/$rid/$file" <<< "$listing" || { echo "tool package $rid lacks $file" >&2; exit 1; }
  done
  if grep -E '\.(so|dll|dylib)$' <<< "$listing" | grep -E 'torch_python|_test\.|/runtimes/' > /dev/null; then
    echo "tool package $rid carries files it never loads (Python bindings, tests, other platforms' runtimes/)" >&2; exit 1
  fi
  echo "Tool package $rid: $(( $(stat -c %s "$package") / 1000000 )) MB, carries ${payload[$rid]}"
done
top=$(ls "$dir"/Robustness.Cli.[0-9]*.nupkg)
if unzip -Z1 "$top" | grep -qE '\.(dll|so|dylib)$'; then echo "the top-level tool package carries binaries" >&2; exit 1; fi
version=$(basename "$top" .nupkg); version=${version#Robustness.Cli.}
tools=$(mktemp -d)
dotnet tool install --tool-path "$tools" --add-source "$dir" Robustness.Cli --version "$version" > /dev/null
"$tools/robustness" modules > /dev/null
echo "Tool package: 'dotnet tool install Robustness.Cli $version' picked $(ls "$tools/.store/robustness.cli/$version" | grep '^robustness.cli.' | tr '\n' ' ')and its libtorch loads."
rm -rf "$tools"
