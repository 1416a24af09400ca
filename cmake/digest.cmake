# cmake -DIN=file -DOUT=file -P digest.cmake: writes IN's SHA-256 (64 hex digits) to OUT.
file(SHA256 "${IN}" digest)
file(WRITE "${OUT}.tmp" "${digest}")
file(RENAME "${OUT}.tmp" "${OUT}")
