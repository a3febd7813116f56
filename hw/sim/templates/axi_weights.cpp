// The weights of ${name}, compiled into the simulated board's library: written by hw.sim.axi from
// hw/sim/templates/axi_weights.cpp into build/ (never into the project) after checking that the
// .txt files, copied here verbatim, hold the same numbers as the .h initialisers synthesis builds in.
//
// The network reads its weights from files once, at its first call.  Unless a folder was set with
// ${name}_axi_set_weights_dir, the texts below are written to a private temporary folder just
// before that call and removed right after it, so the library is one movable file.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <unistd.h>

static const char *const NAMES[] = {${names} NULL};
static const char *const TEXTS[] = {${texts} NULL};
static const unsigned COUNT = sizeof(NAMES) / sizeof(NAMES[0]) - 1;

static std::string folder; // what WEIGHTS_DIR gives the loader
static bool temporary = false;

const char *${name}_axi_weights_dir() { return folder.c_str(); }

static bool complete(const std::string &dir) {
    for (unsigned i = 0; i < COUNT; i++) {
        FILE *file = std::fopen((dir + "/" + NAMES[i]).c_str(), "rb");
        if (file == NULL)
            return false;
        std::fclose(file);
    }
    return true;
}

static void remove_temporary() {
    for (unsigned i = 0; i < COUNT; i++)
        std::remove((folder + "/" + NAMES[i]).c_str());
    rmdir(folder.c_str());
    temporary = false;
}

extern "C" int ${name}_axi_set_weights_dir(const char *dir) {
    if (dir == NULL || !complete(dir))
        return -8;
    folder = dir;
    return 0;
}

int ${name}_axi_weights_ready() {
    if (!folder.empty())
        return 0; // set by the caller, or the network has already read them
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != NULL && *tmp ? tmp : "/tmp") + "/attendnets-weights-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    if (mkdtemp(name.data()) == NULL)
        return -8;
    folder = name.data();
    temporary = true;
    for (unsigned i = 0; i < COUNT; i++) {
        FILE *file = std::fopen((folder + "/" + NAMES[i]).c_str(), "wb");
        size_t size = std::strlen(TEXTS[i]);
        bool written = file != NULL && std::fwrite(TEXTS[i], 1, size, file) == size;
        if (file != NULL)
            written = std::fclose(file) == 0 && written;
        if (!written) {
            remove_temporary();
            folder.clear();
            return -8;
        }
    }
    return 0;
}

void ${name}_axi_weights_loaded() {
    if (temporary)
        remove_temporary(); // folder keeps its name: the network never reads the weights again
}
