#!/usr/bin/env bash
# Every measurement docs/benchmarks.md and docs/scale-*.md show, in one run
# on one machine: the scenarios (run.sh), the second factor (mfa.sh), the
# metrics overhead (overhead.sh), and the scale runs on SQLite and
# PostgreSQL (scale.sh; TESSERA_TEST_POSTGRES names the database). The pages then
# compare like with like: a shared VM's speed differs by tens of percent
# from one machine, or one hour, to the next.
#
#   ./bench/all.sh      # 35 minutes on 2 cores (2026-12-08); keep the machine otherwise idle
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TESSERA_TEST_POSTGRES:?the pages show PostgreSQL runs too: set TESSERA_TEST_POSTGRES}"
started=$(date -u '+%Y-%m-%d %H:%M')
./bench/run.sh
DURATION="${MFA_DURATION:-20s}" ./bench/mfa.sh
./bench/overhead.sh
./bench/scale.sh
STORE=postgres ./bench/scale.sh
# The report names the run only while every part is this one's: each
# script run alone removes this file.
echo "$started to $(date -u '+%H:%M') UTC" >bench/results/all_run.txt
./bench/report.sh
