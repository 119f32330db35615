// Checks a profile the way DHAT's viewer reads it: loads the viewer's own
// script (dh_view.js, shipped with Valgrind) with a stub DOM, parses the file
// and runs the viewer's field checks and tree building, which stop on a
// missing field, a wrong version or a repeated location.
//
//   node allocators/profile/tools/dh_view_check.js dhat-heap.json [path/to/dh_view.js]
const fs = require('fs'), vm = require('vm');
function fake() {
  const f = function () { return fake(); };
  return new Proxy(f, {
    get(t, p) {
      if (p === Symbol.toPrimitive) return () => '';
      if (p === 'childNodes') return [];
      if (p === 'selectedIndex') return 0;
      if (p === Symbol.iterator) return function* () {};
      if (!(p in t)) t[p] = fake();
      return t[p];
    },
    set(t, p, v) { t[p] = v; return true; },
  });
}
const ctx = { document: fake(), window: fake(), console, Intl, Math, JSON, Error, Array, Object, Number, String, Map, Set, Infinity, NaN, isNaN };
ctx.window = ctx;
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[3] || '/usr/libexec/valgrind/dh_view.js', 'utf8'), ctx);
vm.runInContext('gSelect = {childNodes: gSelectData.map(() => ({disabled: false, selected: false})), selectedIndex: 0};', ctx);
ctx.data = fs.readFileSync(process.argv[2], 'utf8');
vm.runInContext('gData = JSON.parse(data); buildTree();', ctx);
const root = vm.runInContext('gRoot', ctx);
console.log('ok: tree built, root total bytes', root._totalBytes, 'blocks', root._totalBlocks, 'kids', (root._kids || []).length);
