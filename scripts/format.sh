#!/usr/bin/env bash
# Formats latent's C++ sources with clang-format and the project's .clang-format.
#   scripts/format.sh            formats every file in place
#   scripts/format.sh --check    changes nothing: lists the files that differ from the formatted text
#                                (exit status 1 if any does), e.g. before a commit or in CI
#   scripts/format.sh [--check] FILE...   only these files
# Files: *.hpp, *.cpp and *.h under include/, tests/, examples/ and benchmarks/.
# clang-format 16 (Debian 12: `bash scripts/deps.sh --format`), pinned because every major version
# formats a little differently (and 14 mangles requires-expressions); CLANG_FORMAT overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
if [[ "${1:-}" == --check ]]; then
  check=1
  shift
fi

clang_format="${CLANG_FORMAT:-clang-format-16}"
if ! command -v "$clang_format" > /dev/null; then
  echo "format.sh: $clang_format not found; install it with: bash scripts/deps.sh --format" >&2
  exit 2
fi

files=()
if (($#)); then
  files=("$@")
else
  while IFS= read -r -d '' f; do files+=("$f"); done < <(
    find include tests examples benchmarks -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) -print0 | sort -z)
fi

if ((check)); then
  differ=0
  for f in "${files[@]}"; do
    if ! "$clang_format" --style=file "$f" | cmp -s - "$f"; then
      echo "$f"
      differ=1
    fi
  done
  if ((differ)); then
    echo "format.sh: the files above are not formatted; run: bash scripts/format.sh" >&2
  fi
  exit "$differ"
fi
"$clang_format" --style=file -i "${files[@]}"
