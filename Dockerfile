# Production image for the web (ASGI) and GPS-ingest processes; see docker-compose.yml.
FROM node:20-bookworm-slim AS assets
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 PYTHONPATH=/app/platform:/app CITYOPS_ENV=production CITYOPS_VAR_DIR=/var/lib/cityops
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgdal32 libgeos-c1v5 libproj25 proj-data gettext curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir -e .
COPY . .
COPY --from=assets /app/frontend/node_modules frontend/node_modules
RUN python manage.py compilemessages --ignore=frontend/node_modules -v 0 \
    && useradd --system --home /var/lib/cityops cityops && mkdir -p /var/lib/cityops && chown cityops /var/lib/cityops
USER cityops
EXPOSE 8000 6808
CMD ["uvicorn", "cityops.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
