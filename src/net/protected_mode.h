#pragma once
#include <string_view>

namespace edgekv {

// Redis's protected mode: with no password set, only loopback clients are served.
inline bool ProtectedModeDenies(bool protected_mode, bool has_password,
                                bool client_is_loopback) {
  return protected_mode && !has_password && !client_is_loopback;
}

inline constexpr std::string_view kProtectedModeError =
    "-DENIED edgekv is running in protected mode because protected mode is "
    "enabled and no password is set for the default user. In this mode "
    "connections are only accepted from the loopback interface. If you want to "
    "connect from external computers to edgekv you may adopt one of the "
    "following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting "
    "to edgekv from the same host the server is running, however MAKE SURE "
    "edgekv is not publicly accessible from internet if you do so. 2) "
    "Alternatively you can just disable the protected mode by editing the "
    "edgekv configuration file, and setting the protected mode option to 'no', "
    "and then restarting the server. 3) If you started the server manually "
    "just for testing, restart it with the '--protected-mode no' option. 4) Set "
    "up an authentication password for the default user. NOTE: You only need "
    "to do one of the above things in order for the server to start accepting "
    "connections from the outside.\r\n";

}  // namespace edgekv
