# Sourced by the scripts that need a Prometheus: start_prometheus DIR TARGETS PORT INTERVAL LOG
# starts one on 127.0.0.1:PORT with the shipped rules (deploy/prometheus/rules.yml), scraping
# the file_sd TARGETS every INTERVAL (e.g. 5s), its data and config in DIR, and sets
# `prometheus_pid`. The caller stops it.
start_prometheus() {
  local dir=$1 targets=$2 port=$3 interval=$4 log=$5
  mkdir -p "$dir"
  cp deploy/prometheus/rules.yml "$dir/rules.yml"
  cat >"$dir/prometheus.yml" <<YAML
global: {scrape_interval: $interval, evaluation_interval: $interval}
rule_files: [rules.yml]
scrape_configs:
  - job_name: palomar
    file_sd_configs: [{files: ["$targets"], refresh_interval: $interval}]
YAML
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$port" </dev/null >"$log" 2>&1 &
  prometheus_pid=$!
}
