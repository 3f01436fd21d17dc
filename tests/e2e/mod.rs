mod guards;
mod operations;
mod properties;
