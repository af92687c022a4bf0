# Sourced by ./run and ./test: a virtualenv in .venv with requirements installed, and htmx from
# the npm registry (package-lock.json). Re-installs only when a requirements file changed.
python3 -m venv .venv 2>/dev/null || true
if [ ! -x .venv/bin/python ]; then
  echo "Could not create .venv: install python3-venv (apt-get install python3-venv)." >&2
  exit 1
fi
requirements="${SHUTTERBELL_REQUIREMENTS:-requirements.txt}"
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$requirements")"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r "$requirements"
  touch "$stamp"
fi
if [ ! -f node_modules/htmx.org/dist/htmx.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --silent --no-audit --no-fund
fi
export PATH="$PWD/.venv/bin:$PATH"
# The catalogues the app speaks from (translations/*/LC_MESSAGES/messages.mo), compiled when a .po changed.
for po in translations/*/LC_MESSAGES/messages.po; do
  [ -f "$po" ] || continue
  if [ ! -f "${po%.po}.mo" ] || [ "$po" -nt "${po%.po}.mo" ]; then
    if ! compiled=$(.venv/bin/pybabel compile -d translations -i "$po" -o "${po%.po}.mo" \
        -l "$(basename "$(dirname "$(dirname "$po")")")" 2>&1); then
      echo "$compiled" >&2  # a broken catalogue stops the start: studios would get English for good
      return 1 2>/dev/null || exit 1
    fi
  fi
done
