-- One database per service: each owns its schema and migrations and never reads
-- another's tables. Runs once, when the PostgreSQL data volume is first created;
-- the services apply their own migrations at startup.
CREATE DATABASE orders;
CREATE DATABASE issuance;
CREATE DATABASE assignment;
CREATE DATABASE checkin;
CREATE DATABASE notifications;
