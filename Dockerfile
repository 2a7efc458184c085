# edgekv-server container image.
#
#   docker build -t edgekv .
#   docker run -p 6379:6379 -v edgekv-data:/data edgekv
#   docker run -p 6379:6379 edgekv --requirepass "$(openssl rand -hex 32)"
#
# Arguments after the image name replace the default "--protected-mode no"
# and are appended to the fixed part of the command line (config file, data
# directory, bind address); any directive of conf/edgekv.conf can be given as
# "--name value".

# --- Build stage --------------------------------------------------------------
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config libboost-dev libleveldb-dev libsnappy-dev \
      libisal-dev libfmt-dev libxxhash-dev liblua5.1-0-dev lua-cjson-dev lua-bitop-dev \
      libssl-dev liblzf-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY include/ include/
COPY src/ src/
COPY tools/wal_dump.cc tools/
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DEDGEKV_BUILD_TESTS=OFF \
 && cmake --build build --target edgekv-server edgekv-wal-dump \
 && strip build/edgekv-server build/edgekv-wal-dump

# --- Runtime stage ------------------------------------------------------------
FROM debian:12
# Only the shared libraries the server links (libstdc++ and libc are in the
# base image).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libfmt9 libxxhash0 libleveldb1d libsnappy1v5 libisal2 liblua5.1-0 libssl3 liblzf1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /data --shell /usr/sbin/nologin edgekv \
 && mkdir -p /data /etc/edgekv \
 && chown edgekv:edgekv /data
COPY --from=build /src/build/edgekv-server /src/build/edgekv-wal-dump /usr/local/bin/
COPY conf/edgekv.conf /etc/edgekv/edgekv.conf

VOLUME /data
WORKDIR /data
EXPOSE 6379
USER edgekv

# "--bind 0.0.0.0": listen on the container's interfaces, not only on its
# loopback, so that published ports (-p 6379:6379) and other containers reach
# the server.
#
# Protected mode: with protected-mode yes and no requirepass, edgekv serves
# loopback clients only. In a container "loopback" is the container itself,
# so every real client (the host, other containers) would be refused with
# -DENIED. One of the two is needed: a password (run the image with
# "--requirepass <secret>", which replaces this CMD and keeps protected mode
# on), or "--protected-mode no" (the default below) with the port kept off
# untrusted networks - anyone who can reach it has full access.
ENTRYPOINT ["edgekv-server", "/etc/edgekv/edgekv.conf", "--dir", "/data", "--bind", "0.0.0.0"]
CMD ["--protected-mode", "no"]
