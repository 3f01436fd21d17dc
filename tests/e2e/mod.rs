mod guards;
mod operations;
mod properties;
mod versions;
