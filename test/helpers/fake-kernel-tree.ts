// A fake Linux source tree that builds in milliseconds: a top Makefile (tinyconfig,
// olddefconfig, bzImage, kernelrelease, honouring O=), Kconfig, arch/x86 and
// scripts/kconfig/merge_config.sh. Its "bzImage" is a copy of src.c; every build appends a
// line to O/builds.log (so a test can tell an incremental build from a cold one). A src.c
// containing BROKEN fails like gcc; a file named mutate is appended to during the build (a
// user editing the tree meanwhile); olddefconfig drops any CONFIG_*NOT_IN_TREE* line.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MAKEFILE = `O ?= .
tinyconfig:
\t@mkdir -p $(O) && echo CONFIG_TINY=y > $(O)/.config
olddefconfig:
\t@grep -v NOT_IN_TREE $(O)/.config > $(O)/.config.new; mv $(O)/.config.new $(O)/.config
bzImage:
\t@echo "  CC      init/main.o"
\t@if grep -q BROKEN src.c; then echo "  CC      kernel/fork.o"; echo "src.c:1:1: error: expected ';' before 'BROKEN'"; echo "    1 | BROKEN"; echo "make[2]: *** [scripts/Makefile.build:250: src.o] Error 1"; exit 1; fi
\t@mkdir -p $(O)/arch/x86/boot && cp src.c $(O)/arch/x86/boot/bzImage && echo built >> $(O)/builds.log
\t@if [ -f mutate ]; then echo x >> mutate; fi
kernelrelease:
\t@echo 6.1.0-fake
`;

const MERGE = `#!/bin/sh
while [ $# -gt 0 ]; do case $1 in -m) shift;; -O) out=$2; shift 2;; *) break;; esac; done
base=$1; shift
cat "$base" "$@" | grep -v '^#' > "$out/.config.merged" && mv "$out/.config.merged" "$out/.config"
`;

export function fakeKernelTree(dir: string = mkdtempSync(join(tmpdir(), 'tunbench-faketree-'))): string {
  mkdirSync(join(dir, 'arch/x86'), { recursive: true });
  mkdirSync(join(dir, 'scripts/kconfig'), { recursive: true });
  writeFileSync(join(dir, 'Makefile'), MAKEFILE);
  writeFileSync(join(dir, 'Kconfig'), 'mainmenu "fake"\n');
  writeFileSync(join(dir, 'scripts/kconfig/merge_config.sh'), MERGE, { mode: 0o755 });
  writeFileSync(join(dir, 'src.c'), 'int main(void) { return 0; }\n');
  return dir;
}
