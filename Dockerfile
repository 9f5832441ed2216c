# Herald's production image: the API and the worker run from it as separate containers
# (`deno task api`, `deno task worker`) against PostgreSQL and a Temporal cluster.
FROM denoland/deno:2.9.6

WORKDIR /app
# Dependencies first, in their own layer.
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY . .
# The workflow bundles (plain, and with the tracing interceptors for OTEL_EXPORTER_OTLP_ENDPOINT)
# are built here once, so a worker starts without running the bundler.
RUN deno cache main.ts src/traces/sdk.ts \
  && deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi workers/bundle.ts \
  && deno run --allow-read --allow-write --allow-env --allow-sys --allow-ffi workers/bundle.ts --traced \
  && chown -R deno:deno /app
USER deno

ENV HOST=0.0.0.0 PORT=8080 WORKER_METRICS_PORT=9464 HERALD_DATA_DIR=/app/data
# The API serves on PORT; a worker alone serves /healthz, /readyz and /metrics on WORKER_METRICS_PORT.
EXPOSE 8080 9464
# Each role's own port: the API's, else the worker's (a container runs one of them).
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD ["deno", "eval", "const up = (v) => fetch('http://127.0.0.1:' + Deno.env.get(v) + '/healthz').then((r) => r.ok, () => false); Deno.exit((await up('PORT')) || (await up('WORKER_METRICS_PORT')) ? 0 : 1)"]

# The same command the tests run; override with `deno task worker` for the worker.
CMD ["deno", "task", "api"]
