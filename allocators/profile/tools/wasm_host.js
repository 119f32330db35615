// Plays the host of examples/wasm_guest.rs with Node's WebAssembly API:
// instantiates the guest, calls `init` and `handle`, then pulls the profile
// out through the guest ABI (`polyalloc_profile_write` returns the length,
// `polyalloc_profile_ptr` the address in the guest's memory) and writes it.
//
//   node allocators/profile/tools/wasm_host.js wasm_guest.wasm dhat-guest.json
const assert = require('assert');
const fs = require('fs');
const bytes = fs.readFileSync(process.argv[2]);
const mod = new WebAssembly.Module(bytes);
const inst = new WebAssembly.Instance(mod, {});
const e = inst.exports;
e.init();
let sums = [];
for (let s = 0; s < 10; s++) sums.push(e.handle(s));
const len = e.polyalloc_profile_write();
const ptr = e.polyalloc_profile_ptr();
const json = Buffer.from(new Uint8Array(e.memory.buffer, ptr, len)).toString('utf8');
fs.writeFileSync(process.argv[3], json);
const v = JSON.parse(json);
assert.deepStrictEqual(sums, Array(10).fill(800));
assert.strictEqual(v.dhatFileVersion, 2);
assert.strictEqual(v.tu, 'allocs');
assert.strictEqual(v.cmd, 'wasm_guest');
for (const name of ['init', 'parse', 'handle']) assert.ok(v.ftbl.includes(name), name);
console.log(`wrote ${len} bytes to ${process.argv[3]}: ${v.pps.length} points (${v.ftbl.slice(1).join(', ')}), te ${v.te} allocs`);
