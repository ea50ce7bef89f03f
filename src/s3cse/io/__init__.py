"""What the shells share that touches the outside world: AWS sessions and retries,
local files and paths, and the local tree walk."""
