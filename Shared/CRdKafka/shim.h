// librdkafka (compiled against Debian's librdkafka-dev header; at run time the 2.16 library from the
// confluent-kafka wheel is put first on LD_LIBRARY_PATH, see Makefile). Only Shared/Messaging imports this.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
