// InfluxDB 2.x task: hourly roll-up of the counts from the edge bucket to a (cloud) bucket.
// NOT RUN HERE: the CI machine has InfluxDB 1.6 only (no Flux); the InfluxQL continuous
// queries next to this file are the tested v1 equivalent.
// Create: influx task create --file downsample_task.flux ; the cloud token lives in the secret store.
import "influxdata/influxdb/secrets"

option task = {name: "argos_counts_hourly", every: 1h, offset: 5m}

from(bucket: "edge_argos")
    |> range(start: -task.every)
    |> filter(fn: (r) => r._measurement == "argos_counts" and r._field == "count")
    |> aggregateWindow(every: 1h, fn: sum, createEmpty: false)
    |> set(key: "_measurement", value: "argos_counts_1h")
    |> to(
        bucket: "argos",
        org: "argos",
        host: "https://cloud.example.org",
        token: secrets.get(key: "CLOUD_INFLUX_TOKEN"),
    )
