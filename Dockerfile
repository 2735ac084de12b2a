# One image for every CloudPortal process; the first argument picks which one:
#   docker run IMAGE web       uvicorn on 0.0.0.0:8000 (PORT changes it)
#   docker run IMAGE worker    Celery worker (WORKER_CONCURRENCY, default 2)
#   docker run IMAGE beat      Celery beat (one per installation)
#   docker run IMAGE migrate   apply database migrations and exit
#   docker run IMAGE init      migrate, then create the admin account (CLOUDPORTAL_ADMIN_PASSWORD)
#   docker run IMAGE all       init, then web + worker + beat in one container (zero-setup trial)
#   docker run IMAGE manage …  any manage.py command (e.g. reset_admin_password)
# Configuration is the environment: DATABASE_URL, REDIS_URL, CELERY_BROKER_URL,
# SECRET_KEY, ... (see docs/operations.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLOUDPORTAL_DATA_DIR=/var/lib/cloudportal \
    PORT=8000

# mysqlclient compiles against the MariaDB client headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends default-libmysqlclient-dev pkg-config gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-mysql.txt ./
RUN pip install -r requirements.txt -r requirements-mysql.txt

# noVNC for the VM console, from npm (package-lock.json); npm itself is not kept in the image.
COPY package.json package-lock.json .npmrc ./
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && npm ci --no-audit --no-fund --loglevel=error \
 && apt-get purge -y --auto-remove npm \
 && rm -rf /var/lib/apt/lists/* /root/.npm

COPY . .
RUN chmod 0755 docker/entrypoint.sh \
 && useradd --system --home-dir /var/lib/cloudportal --shell /usr/sbin/nologin cloudportal \
 && install -d -o cloudportal -g cloudportal /var/lib/cloudportal

USER cloudportal
VOLUME ["/var/lib/cloudportal"]
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
