#!/bin/sh
# One-shot topic creation for the compose stack. Reads topics.txt (generated from the
# contracts catalogue by deploy/generate.py): "name partitions retention.ms" per line.
# Lists the broker's topics once and creates only the missing ones, so a re-run is a no-op.
set -eu

bootstrap="${KAFKA_BOOTSTRAP:-kafka:9092}"
replicas="${TOPIC_REPLICAS:-1}"
topics_file="${TOPICS_FILE:-/vrac/topics.txt}"
kafka_topics="${KAFKA_TOPICS_CMD:-/opt/kafka/bin/kafka-topics.sh}"

existing="$("$kafka_topics" --bootstrap-server "$bootstrap" --list)"
created=0
while read -r name partitions retention; do
    case "$name" in ''|'#'*) continue ;; esac
    if printf '%s\n' "$existing" | grep -qxF "$name"; then
        continue
    fi
    "$kafka_topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
        --topic "$name" --partitions "$partitions" --replication-factor "$replicas" \
        --config "retention.ms=$retention" --config cleanup.policy=delete
    created=$((created + 1))
done < "$topics_file"
echo "create-topics: $created created, the rest existed"
