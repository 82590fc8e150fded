# shellcheck shell=bash
# CPU time from /proc, in clock ticks, for the A/B scripts' "CPU per event/request" columns.

# Ticks (user + system) of one process.
ds_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Ticks of every PostgreSQL process together.
ds_postgres_ticks() {
  local pid total=0
  for pid in $(pgrep -x postgres); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

# Busy ticks of the whole machine (user, nice, system, irq, softirq).
ds_machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }

# Microseconds per unit between two tick readings: $1 = before, $2 = after, $3 = units.
ds_per_unit_us() { python3 -c "print(round(($2 - $1) * 1e6 / $(getconf CLK_TCK) / $3, 1))"; }
