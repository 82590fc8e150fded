# shellcheck shell=bash
# Synthetic months of audit events for the query benchmarks, below the months the service
# keeps (from 4 months back), 1M rows a month (bench/sql/fill_month.sql); correlation ids
# fill-0.. cover 10 rows each. DS_FILLED counts the rows loaded so far.
DS_FILLED=0

# Loads months until DS_FILLED reaches $2 rows: $1 = database URL.
ds_fill_to() {
  local month
  while [ "$DS_FILLED" -lt "$2" ]; do
    month="$(python3 -c "import datetime as d; t=d.date.today().replace(day=1); m=t.year*12+t.month-1-4-$DS_FILLED//1000000; print(d.date(m//12, m%12+1, 1))")"
    echo "[bench] loading 1,000,000 rows into the $month partition ($DS_FILLED so far)" >&2
    "$DS_PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$1" -v month="$month" -v rows=1000000 \
      -v first="$DS_FILLED" -f bench/sql/fill_month.sql >/dev/null || return 1
    DS_FILLED=$((DS_FILLED + 1000000))
  done
}
