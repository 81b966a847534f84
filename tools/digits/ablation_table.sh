#!/usr/bin/env bash
# tools/digits/ablation_table.sh — the ablation's tables (tools/digits/ablation.sh): held-out fonts
# (the rule's figure) and val_synthetic (its tie-break). A flip that trains CSG alone is paired
# with C's baseline, which it shares.
set -euo pipefail
cd "$(dirname "$0")/../.."
for split in fonts val; do
  echo "### $split"
  python3 tools/digits/summarize.py --split $split ab-C ab-absolute ab-ema-0.999=ab-C ab-queue-4096=ab-C ab-lr-matched \
    ab-small-stem ab-fashion-digits ab-fashion
  echo
done
