# The bgpctl node image: `bgp run` (the agent) and gobgpd (its sidecar), one image.
# Built by `make image` (scripts/build-image.sh) from a context holding a wheelhouse and
# gobgpd; the base is a Debian root filesystem made by mmdebstrap. No network is used.

# Stage 1: a virtualenv with the project and its dependencies, from the wheelhouse only.
# Its interpreter gets CAP_NET_ADMIN as a file capability (effective + permitted): a
# non-root process keeps no capability across exec, so the interpreter carries it; the
# container's bounding set (capabilities.add: [NET_ADMIN]) decides whether it applies.
FROM localhost/bgpctl-base:bookworm AS venv
COPY wheels /wheels
RUN python3 -m venv --without-pip --copies /opt/bgpctl \
 && pip_whl=$(ls /wheels/pip-*.whl) \
 && /opt/bgpctl/bin/python3 "$pip_whl/pip" install --no-index --no-compile \
      --find-links /wheels --no-cache-dir bgpctl \
 && find /opt/bgpctl -name __pycache__ -prune -exec rm -rf {} + \
 && rm -rf /opt/bgpctl/lib/python3.11/site-packages/pip* \
 && /opt/bgpctl/bin/python3 -m compileall -q -j 2 /opt/bgpctl/lib \
 && /opt/bgpctl/bin/python3 -c "import os, struct; os.setxattr('/opt/bgpctl/bin/python3', 'security.capability', struct.pack('<5I', 0x02000001, 1 << 12, 0, 0, 0))"

# Stage 2: the runtime image: base + venv + gobgpd, non-root.
FROM localhost/bgpctl-base:bookworm
COPY --from=venv /opt/bgpctl /opt/bgpctl
COPY gobgpd /usr/local/bin/gobgpd
# gobgpd binds BGP port 179: CAP_NET_BIND_SERVICE as a file capability, same reasoning.
RUN python3 -c "import os, struct; os.setxattr('/usr/local/bin/gobgpd', 'security.capability', struct.pack('<5I', 0x02000001, 1 << 10, 0, 0, 0))" \
 && echo 'bgpctl:x:65532:65532:bgpctl:/nonexistent:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'bgpctl:x:65532:' >> /etc/group
ENV PATH=/opt/bgpctl/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER 65532:65532
ENTRYPOINT ["/opt/bgpctl/bin/bgp"]
CMD ["run"]
