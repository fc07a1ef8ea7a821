-- stand-in auth schema for policy tests
create schema if not exists auth;
