#!/usr/bin/env bash
# Build (once) and install llama-cpp-python for a *portable* instruction set.
#
# Why: llama-cpp-python ships only as source on PyPI, and its default build uses GGML_NATIVE
# (-march=native). A wheel built on a CPU that advertises AMX/AVX-512 then dies with SIGILL on a
# machine (or VM) that refuses those instructions. We build for a fixed, widely available set
# instead and keep the wheel in a project-local cache keyed by version + flags, so a second
# `make setup` does not compile again. pip's own wheel cache is bypassed on purpose: it keys on
# the sdist, not on CMAKE_ARGS, and would happily hand back a native build.
#
# Usage: scripts/install_llama_cpp.sh PYTHON   (env: LLAMA_CPP_VERSION, KV_LLAMA_CMAKE_ARGS,
#                                               KV_WHEEL_CACHE)
set -euo pipefail
PYTHON=${1:?usage: install_llama_cpp.sh PYTHON}
VERSION=${LLAMA_CPP_VERSION:-0.3.36}
CACHE=${KV_WHEEL_CACHE:-.wheels}

# x86-64-v3 (AVX2/FMA/F16C/BMI2): on every x86 server CPU since 2015 and measured here to be as
# fast as the native build (README, "Local model runtime"). AVX-512 and AMX stay off: the CPUs
# that advertise them are exactly the ones whose VMs may refuse them. Other architectures get
# ggml's generic (non-native) build. KV_LLAMA_CMAKE_ARGS overrides all of this.
COMMON="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF"
case "$(uname -m)" in
  x86_64|amd64)
    FLAGS="$COMMON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF \
-DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" ;;
  *) FLAGS="$COMMON" ;;
esac
# `make setup-portable` records its choice in $CACHE/CMAKE_ARGS so later `make setup`s keep it.
if [ -z "${KV_LLAMA_CMAKE_ARGS:-}" ] && [ -f "$CACHE/CMAKE_ARGS" ]; then
  KV_LLAMA_CMAKE_ARGS=$(cat "$CACHE/CMAKE_ARGS")
fi
FLAGS=${KV_LLAMA_CMAKE_ARGS:-$FLAGS}
KEY=$(printf '%s|%s|%s|%s' "$VERSION" "$FLAGS" "$(uname -m)" "$("$PYTHON" -c 'import sys; print(sys.version_info[:2])')" | sha256sum | cut -c1-16)
DIR="$CACHE/llama_cpp_python-$VERSION-$KEY"

installed=$("$PYTHON" - <<PY 2>/dev/null || true
import importlib.metadata as m, pathlib
try:
    d = m.distribution("llama_cpp_python")
except m.PackageNotFoundError:
    raise SystemExit
stamp = pathlib.Path(d.locate_file("llama_cpp")) / ".kv-build-key"
print(d.version + ":" + (stamp.read_text().strip() if stamp.exists() else "unknown"))
PY
)
if [ "$installed" = "$VERSION:$KEY" ]; then
  echo "llama-cpp-python $VERSION (portable build $KEY) already installed"
  exit 0
fi

if ! ls "$DIR"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION for a portable instruction set (about 7 minutes on 2 cores)"
  echo "  CMAKE_ARGS=$FLAGS"
  mkdir -p "$DIR.tmp"
  CMAKE_ARGS="$FLAGS" FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$PYTHON" -m pip wheel --no-cache-dir --no-deps -w "$DIR.tmp" "llama-cpp-python==$VERSION"
  echo "$FLAGS" > "$DIR.tmp/CMAKE_ARGS"
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
else
  echo "reusing the cached portable wheel in $DIR"
fi
"$PYTHON" -m pip install --force-reinstall --no-deps "$DIR"/llama_cpp_python-*.whl
"$PYTHON" - <<PY
import importlib.metadata as m, pathlib
d = m.distribution("llama_cpp_python")
(pathlib.Path(d.locate_file("llama_cpp")) / ".kv-build-key").write_text("$KEY\n")
PY
