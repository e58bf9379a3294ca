/**
 * Built-in actions beyond `cleanup` (fix shapes, merge models, ...). Importing
 * this module registers them with the action registry of src/rewrite/actions.ts.
 */
export {};
