# syntax=docker/dockerfile:1
# The image runs the wheel: templates, translations, static files and migrations are package
# data (app/_resources), so nothing of the source tree is needed at run time.
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm AS build
WORKDIR /build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY locale ./locale
COPY static ./static
COPY --from=assets /build/node_modules/htmx.org/dist/htmx.min.js ./static/vendor/htmx.min.js
COPY --from=assets /build/node_modules/@digital-go-jp/design-tokens/dist/tokens.css ./static/vendor/tokens.css
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/python -c "from app.resources import missing_vendor_files as m; assert not m(), m()"

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 tobira \
    && useradd --system --uid 10001 --gid tobira --home-dir /srv/tobira tobira
WORKDIR /srv/tobira
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"]
# Migrations first, then the app; settings come from the environment (see README).
CMD ["sh", "-c", "portal db upgrade && exec portal serve --host 0.0.0.0 --port 8000"]
