#!/usr/bin/env bash
# Cross-executor check on a GPU machine: v3-tiny (seeded weights, 4 random windows) through the float64 CPU
# forward, the WebGPU executor (f32, f16-storage) and the PyTorch backend on CUDA (f32, f16), each compared with
# the float64 forward. Run like scripts/gpu-bench.sh (bundle + devkit here, then on the machine):
#   source .devkit/bootstrap.sh; bash scripts/gpu-parity.sh
set -u
mkdir -p out/node-bundle/dist/linux-x64; [[ -f out/node-bundle/dist/linux-x64/dawn.node ]] || xz -dc .devkit/dawn.node.xz > out/node-bundle/dist/linux-x64/dawn.node
I="node out/node-bundle/ictal.mjs"; W=/tmp/par; mkdir -p $W
$I graph --preset v3-tiny --seed 5 --ir $W/g.json --weights $W/w.safetensors > /dev/null
python3 -c "import numpy as np; x=(np.random.default_rng(1).standard_normal((4,19,2560))*3).astype('f4'); np.save('$W/x.npy', x)"
$I forward --ir $W/g.json --weights $W/w.safetensors --input $W/x.npy --output $W/y_cpu.npy --executor cpu 2>/dev/null
for p in f32 f16-storage; do $I forward --ir $W/g.json --weights $W/w.safetensors --input $W/x.npy --output $W/y_$p.npy --precision $p 2>&1 | grep -v Warning; done
(cd backend && python3 -m ictal_backend forward --ir $W/g.json --weights $W/w.safetensors --input $W/x.npy --output $W/y_torch32.npy --device cuda --precision f32 && python3 -m ictal_backend forward --ir $W/g.json --weights $W/w.safetensors --input $W/x.npy --output $W/y_torch16.npy --device cuda --precision f16) 2>&1 | tail -3
python3 - <<'PY'
import numpy as np
W='/tmp/par'; ref=np.load(f'{W}/y_cpu.npy').astype('f8')
def err(a,b): return float(np.max(np.abs(a-b))/np.max(np.abs(b)))
for n in ['f32','f16-storage','torch32','torch16']:
    try: y=np.load(f'{W}/y_{n}.npy').astype('f8'); print(f'{n:12s} vs float64 CPU reference: {err(y,ref):.2e}')
    except Exception as e: print(n, 'missing', e)
try: print(f"webgpu f32 vs torch cuda f32: {err(np.load(f'{W}/y_f32.npy'), np.load(f'{W}/y_torch32.npy')):.2e}")
except Exception as e: print(e)
PY
