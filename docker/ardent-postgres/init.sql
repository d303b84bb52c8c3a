-- Runs once, when the ardent-postgres volume is first initialised: Ardent's
-- catalog and the demo destination live in separate databases.
CREATE DATABASE ardent_catalog;
CREATE DATABASE destination;
