# Sourced by the install checks: drops every PATH entry holding cargo, rustc or rustup and
# fails if one is still found, so what is installed is shown to work without a Rust toolchain.
# shellcheck shell=bash
clean_path=()
IFS=':' read -r -a path_dirs <<< "$PATH"
for dir in "${path_dirs[@]}"; do
  [[ -x "$dir/cargo" || -x "$dir/rustc" || -x "$dir/rustup" ]] || clean_path+=("$dir")
done
PATH="$(IFS=':'; printf '%s' "${clean_path[*]}")"
export PATH
for tool in cargo rustc rustup; do
  if command -v "$tool" >/dev/null 2>&1; then
    echo "install check: $tool is still on PATH ($(command -v "$tool"))" >&2
    exit 1
  fi
done
unset clean_path path_dirs dir tool
