mod guards;
mod operations;
mod properties;
mod roots;
mod run_control;
mod two_way;
mod two_way_model;
mod versions;
