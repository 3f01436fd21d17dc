mod guards;
mod link_placements;
mod operations;
mod properties;
mod run_control;
mod two_way;
mod two_way_model;
mod versions;
