# recallbot in a container: a static binary on a distroless base, running as
# the base's unprivileged user (nonroot, uid 65532).
# Build: docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t recallbot .
# Run:   docker run -e DINGTALK_CLIENT_SECRET -e RECALLBOT_HTTP_TOKEN -p 127.0.0.1:8470:8470 \
#          -v $PWD/container.yaml:/etc/recallbot/config.yaml:ro -v recallbot-data:/var/lib/recallbot recallbot
# where container.yaml is your copy of deploy/container.yaml (the image holds
# that example at /etc/recallbot/config.yaml: HTTP on 0.0.0.0:8470, the
# ledger on the volume by its absolute path).
FROM golang:1.26 AS build
# VERSION is what "recallbot version" prints. The git revision is stamped
# too (-buildvcs) when the build context has the repository's .git, which
# .dockerignore leaves out.
ARG VERSION=""
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/recallbot .
# The state directory, owned by the user the bot runs as: a new named
# volume mounted on it starts as a copy of it, owner included.
RUN mkdir -p /out/state && chown 65532:65532 /out/state && chmod 0700 /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/recallbot /usr/local/bin/recallbot
COPY --from=build --chown=65532:65532 /out/state /var/lib/recallbot
COPY deploy/container.yaml /etc/recallbot/config.yaml
# The ledger and its spool live on this volume; relative paths in a
# configuration land here too.
WORKDIR /var/lib/recallbot
VOLUME /var/lib/recallbot
EXPOSE 8470
USER 65532:65532
# distroless has no curl: the binary asks its own /readyz.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["/usr/local/bin/recallbot", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/recallbot", "run", "-config", "/etc/recallbot/config.yaml"]
