// Debian's libnats-dev (the official NATS C client, 3.4): core NATS and the JetStream API.
#include <nats/nats.h>
