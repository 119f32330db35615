// Smoke run of the guests under node: each module must run `churn` and a
// host-driven alloc / realloc / free sequence correctly. Prints one line per
// module, "<file> <checksum>"; the checksum of `churn` does not depend on the
// allocator, so run.sh requires every module to print the same one.
// Usage: node check.mjs FILE.wasm...
import { readFileSync } from "node:fs";

async function check(file) {
  let memory = null;
  let top = 0; // the baseline guest's host-side bump allocator
  const host = {
    host_alloc(size, align) {
      if (top === 0) top = memory.buffer.byteLength;
      const start = Math.ceil(top / align) * align;
      const end = start + size;
      if (end > memory.buffer.byteLength) {
        memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
      }
      top = end;
      return start;
    },
    host_free() {},
  };
  const { instance } = await WebAssembly.instantiate(readFileSync(file), { host });
  const g = instance.exports;
  memory = g.memory;

  let sum = 0;
  for (const n of [0, 1, 7, 1000, 300000]) {
    sum = (Math.imul(sum, 1000003) + g.churn(n)) >>> 0;
  }

  // Blocks of assorted sizes and alignments, filled with a pattern; half
  // freed, the rest grown, then every pattern checked.
  const blocks = [];
  for (let i = 0; i < 64; i++) {
    const size = ((i * 37) % 500) + 1;
    const align = 1 << (i % 5);
    const ptr = g.guest_alloc(size, align);
    if (ptr === 0 || ptr % align !== 0) throw new Error(`${file}: bad block ${ptr} for ${size}/${align}`);
    new Uint8Array(memory.buffer, ptr, size).fill(i);
    blocks.push({ ptr, size, align, i });
  }
  for (const b of blocks.filter((b) => b.i % 2 === 1)) g.guest_free(b.ptr, b.size, b.align);
  const kept = blocks.filter((b) => b.i % 2 === 0);
  for (const b of kept) {
    const newSize = b.size * 3 + 100;
    b.ptr = g.guest_realloc(b.ptr, b.size, b.align, newSize);
    if (b.ptr === 0 || b.ptr % b.align !== 0) throw new Error(`${file}: bad realloc`);
    new Uint8Array(memory.buffer, b.ptr + b.size, newSize - b.size).fill(b.i);
    b.size = newSize;
  }
  for (const b of kept) {
    const bytes = new Uint8Array(memory.buffer, b.ptr, b.size);
    if (!bytes.every((x) => x === b.i)) throw new Error(`${file}: block ${b.i} corrupted`);
    g.guest_free(b.ptr, b.size, b.align);
  }
  if (g.guest_alloc(0, 8) !== 0 || g.guest_alloc(8, 3) !== 0) throw new Error(`${file}: bad layout accepted`);
  return sum;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  try {
    console.log(`${file} ${await check(file)}`);
  } catch (e) {
    console.log(`${file} FAIL ${e.message ?? e}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
