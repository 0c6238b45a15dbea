#!/usr/bin/env bash
# Builds the small, REAL conda packages the conda package tests read, with
# Debian's conda-package-handling (`apt-get install -y conda-package-handling`,
# command `cph`). Rerun it from anywhere; it rewrites conda/testdata/pkgs/.
#
# The packages depend on each other (gh-app -> gh-lib -> gh-data) so that
# repodata and channeldata tests see a realistic little channel, and gh-lib
# comes in 2.9.0 and 2.10.0 so "latest version" must be ordered the conda way,
# not as strings. gh-lib also carries a prefix placeholder, a post-link script,
# an activate.d script and run_exports, which channeldata.json reports.
#
# The bytes differ between runs (tar/zip metadata), the package contents do not;
# the tests compute hashes from the committed files instead of hard-coding them.
set -euo pipefail

command -v cph >/dev/null || {
	echo "cph not found: apt-get install -y conda-package-handling" >&2
	exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/pkgs"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out/noarch" "$out/linux-64"

# A fixed mtime keeps file order and contents reproducible.
export SOURCE_DATE_EPOCH=1700000000

# pkg NAME VERSION BUILD BUILD_NUMBER SUBDIR TIMESTAMP_MS INDEX_EXTRA
# creates $work/NAME-VERSION-BUILD with info/index.json, info/about.json and
# info/files; the caller adds payload files and info/paths.json.
new_pkg() {
	local name=$1 version=$2 build=$3 number=$4 subdir=$5 ts=$6 extra=$7
	local dir="$work/$name-$version-$build"
	mkdir -p "$dir/info"
	cat >"$dir/info/index.json" <<JSON
{
  "arch": $( [ "$subdir" = noarch ] && echo null || echo '"x86_64"' ),
  "build": "$build",
  "build_number": $number,
  $extra
  "license": "BSD-3-Clause",
  "license_family": "BSD",
  "name": "$name",
  "platform": $( [ "$subdir" = noarch ] && echo null || echo '"linux"' ),
  "subdir": "$subdir",
  "timestamp": $ts,
  "version": "$version"
}
JSON
	cat >"$dir/info/about.json" <<JSON
{
  "description": "Fixture package $name for Gatehouse tests.",
  "dev_url": "https://example.org/$name/src",
  "doc_url": "https://example.org/$name/docs",
  "home": "https://example.org/$name",
  "license": "BSD-3-Clause",
  "summary": "The $name fixture"
}
JSON
	echo "$dir"
}

# paths_json DIR: writes info/paths.json and info/files for the payload of DIR.
# Files listed in $PLACEHOLDER_FILES get a text-mode prefix placeholder.
paths_json() {
	local dir=$1 first=1 f sha size
	(cd "$dir" && find . -path ./info -prune -o \( -type f -o -type l \) -print | sed 's|^\./||' | LC_ALL=C sort) >"$dir/info/files"
	{
		echo '{"paths": ['
		while read -r f; do
			sha=$(sha256sum "$dir/$f" | cut -d' ' -f1)
			size=$(stat -c %s "$dir/$f")
			[ $first = 1 ] || echo ','
			first=0
			if [[ " ${PLACEHOLDER_FILES:-} " == *" $f "* ]]; then
				printf '{"_path": "%s", "file_mode": "text", "path_type": "hardlink", "prefix_placeholder": "/opt/placehold_placehold", "sha256": "%s", "size_in_bytes": %s}' "$f" "$sha" "$size"
			else
				printf '{"_path": "%s", "path_type": "hardlink", "sha256": "%s", "size_in_bytes": %s}' "$f" "$sha" "$size"
			fi
		done <"$dir/info/files"
		echo '], "paths_version": 1}'
	} >"$dir/info/paths.json"
}

finish() {
	local dir=$1 subdir=$2
	find "$dir" -exec touch -h -d @$SOURCE_DATE_EPOCH {} +
	local stem
	stem=$(basename "$dir")
	cph create "$dir" "$stem.tar.bz2" --out-folder "$out/$subdir" >/dev/null
}

# noarch: gh-data, no dependencies.
d=$(new_pkg gh-data 1.0.0 0 0 noarch 1700000000000 '"depends": [], "noarch": "generic",')
mkdir -p "$d/share/gh-data"
echo "hello from gh-data" >"$d/share/gh-data/data.txt"
PLACEHOLDER_FILES="" paths_json "$d"
finish "$d" noarch

# linux-64: gh-lib 2.9.0 and 2.10.0, depend on gh-data; prefix placeholder,
# post-link and activate.d scripts, run_exports.
for v in 2.9.0 2.10.0; do
	d=$(new_pkg gh-lib "$v" h1a2b3c4_0 0 linux-64 1700000100000 '"depends": ["gh-data >=1.0", "libgcc-ng >=12"], "constrains": ["gh-app >=0.3"],')
	mkdir -p "$d/lib" "$d/bin" "$d/etc/conda/activate.d"
	echo "prefix=/opt/placehold_placehold" >"$d/lib/gh-lib.cfg"
	printf '#!/bin/sh\necho post-link gh-lib\n' >"$d/bin/.gh-lib-post-link.sh"
	printf 'export GH_LIB=1\n' >"$d/etc/conda/activate.d/gh-lib.sh"
	printf '{"weak": ["gh-lib >=%s,<3.0a0"]}\n' "$v" >"$d/info/run_exports.json"
	echo "/opt/placehold_placehold text lib/gh-lib.cfg" >"$d/info/has_prefix"
	PLACEHOLDER_FILES="lib/gh-lib.cfg" paths_json "$d"
	finish "$d" linux-64
done

# linux-64: gh-app depends on gh-lib and gh-data.
d=$(new_pkg gh-app 0.3.0 h1a2b3c4_1 1 linux-64 1700000200000 '"depends": ["gh-data", "gh-lib >=2.9,<3.0a0"], "constrains": ["gh-data <2"],')
mkdir -p "$d/bin"
printf '#!/bin/sh\necho gh-app\n' >"$d/bin/gh-app"
chmod +x "$d/bin/gh-app"
PLACEHOLDER_FILES="" paths_json "$d"
finish "$d" linux-64

# .conda twins of every package, made the way channels make them.
for f in "$out"/*/*.tar.bz2; do
	cph transmute "$f" .conda --out-folder "$(dirname "$f")" >/dev/null
done
# gh-lib 2.9.0 stays .tar.bz2-only, as old builds on real channels often are.
rm -f "$out/linux-64/gh-lib-2.9.0-h1a2b3c4_0.conda"

ls -l "$out"/*/
