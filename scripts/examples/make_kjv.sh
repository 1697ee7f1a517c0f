#!/usr/bin/env bash
# The text example's corpus: the King James Version of the Bible (public domain), as Debian's
# bible-kjv package ships it, one verse per line without its reference. data/kjv.txt is the first
# MB of it (Genesis to the start of Deuteronomy: ~1.05M characters), the size the README's
# comparison trains on; data/kjv-full.txt the whole text (4.3 MB).
#   apt-get install bible-kjv && scripts/examples/make_kjv.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v bible >/dev/null || { echo "make_kjv.sh: needs Debian's bible-kjv (apt-get install bible-kjv)" >&2; exit 2; }
mkdir -p data
bible -f "Gen1:1-Rev22:21" | sed 's/^[^ ]* //' > data/kjv-full.txt
head -c 1048576 data/kjv-full.txt | sed '$d' > data/kjv.txt   # whole lines only
wc -c data/kjv.txt data/kjv-full.txt >&2
